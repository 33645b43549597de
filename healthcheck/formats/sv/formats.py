# How pages write moments in Swedish: "fre 4 dec 2026, 19:43 UTC", month names in lower case.
DATETIME_FORMAT = "D j b Y, H:i T"
SHORT_DATETIME_FORMAT = "D j b, H:i T"
DATE_FORMAT = "j b Y"
