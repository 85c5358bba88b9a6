"""Files, locks, scanning, reading and writing of streams. Knows files; decides nothing for the user."""
