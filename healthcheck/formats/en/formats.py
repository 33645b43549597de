# How pages write moments in English: "Fri 4 Dec 2026, 19:43 UTC", always with the time zone.
DATETIME_FORMAT = "D j M Y, H:i T"
SHORT_DATETIME_FORMAT = "D j M, H:i T"
DATE_FORMAT = "j M Y"
