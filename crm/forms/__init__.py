"""WTForms (Flask-WTF): forms validate; they never save."""
