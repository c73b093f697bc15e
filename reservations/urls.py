from django.urls import path

from reservations import views

app_name = "reservations"

urlpatterns = [
    path("", views.schedule_day, name="day"),
    path("week/", views.schedule_week, name="week"),
    path("book/", views.book, name="book"),
    path("reservations/<int:pk>/move/", views.move, name="move"),
    path("reservations/<int:pk>/cancel/", views.cancel, name="cancel"),
]
