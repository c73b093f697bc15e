"""Reading what customers type, in Arabic and English: intents, days, times, parts of the day.

Pure functions, no database. `read_message` gives one `Reading`; text.py normalizes, dates.py,
times.py and intents.py each read one thing and say which part of the text they read, so that
a date- or time-like part left unread makes the bot ask instead of guessing.
"""
