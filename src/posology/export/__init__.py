"""Plans for people and calendars: text schedules, CSV, iCalendar."""
