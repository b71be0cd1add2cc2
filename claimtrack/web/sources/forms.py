from __future__ import annotations

from wtforms import StringField

from claimtrack.models import MAX_NAME
from claimtrack.web.forms import VersionedForm, confirm_new, suggesting


class SourceForm(VersionedForm):
    """Fills SourceCreate (new) or SourceUpdate (edit)."""

    title = StringField("Title", render_kw=suggesting("source", MAX_NAME * 2))
    outlet = StringField("Outlet", render_kw={"maxlength": MAX_NAME}, description="E.g. Financial Times, Reuters.")
    url = StringField("URL", render_kw={"type": "url", "placeholder": "https://", "maxlength": 2000})
    published_on = StringField("Published on", render_kw={"placeholder": "YYYY-MM-DD"})
    confirm_new_source = confirm_new("source")
    NAME_FIELDS = {"source": "title"}
