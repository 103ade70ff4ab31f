"""Import forms: the upload, and the CSRF-protected mapping/start form."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import SubmitField


class UploadForm(FlaskForm):
    file = FileField("CSV file", validators=[FileRequired("Choose a CSV file to upload.")],
                     render_kw={"accept": ".csv,text/csv"})
    submit = SubmitField("Upload and preview")


class MappingForm(FlaskForm):
    """The column selects are rendered from the file's header (`map-<field>` names)."""

    preview = SubmitField("Update preview")
    start = SubmitField("Import")
