from django.urls import path

from reservations import views

app_name = "reservations"

urlpatterns = [
    path("", views.schedule_day, name="day"),
    path("week/", views.schedule_week, name="week"),
    path("book/", views.book, name="book"),
    path("reservations/<int:pk>/move/", views.move, name="move"),
    path("reservations/<int:pk>/cancel/", views.cancel, name="cancel"),
    path("reservations/<int:pk>/reinstate/", views.reinstate, name="reinstate"),
    path("reservations/<int:pk>/attendance/", views.attendance, name="attendance"),
    path("export.csv", views.export_csv, name="export-csv"),
    path("calendar/<str:token>/schedule.ics", views.ical_feed, name="ical-feed"),
    path(
        "calendar/<str:token>/<int:resource_id>.ics",
        views.ical_feed,
        name="ical-feed-resource",
    ),
]
