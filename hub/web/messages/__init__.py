"""The UI's messages in both languages, one module per area (merged by ``hub.web.i18n``)."""
