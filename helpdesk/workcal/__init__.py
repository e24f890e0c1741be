"""The working calendar: working hours, public holidays, the admins' days off and make-up days."""
