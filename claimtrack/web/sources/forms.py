from __future__ import annotations

from wtforms import BooleanField, StringField

from claimtrack.models import MAX_NAME
from claimtrack.services.names import NameGuard
from claimtrack.web.forms import VersionedForm


class SourceForm(VersionedForm):
    """Fills SourceCreate (new) or SourceUpdate (edit)."""

    title = StringField("Title", render_kw={"maxlength": MAX_NAME * 2, "autocomplete": "off", "data-suggest": "source"})
    outlet = StringField("Outlet", render_kw={"maxlength": MAX_NAME}, description="E.g. Financial Times, Reuters.")
    url = StringField("URL", render_kw={"type": "url", "placeholder": "https://", "maxlength": 2000})
    published_on = StringField("Published on", render_kw={"placeholder": "YYYY-MM-DD"})
    confirm_new_source = BooleanField(
        "It is a different source", description="None of the similar sources above: add this one as new."
    )
    NAME_FIELDS = {"source": "title"}  # where NearNames is shown

    def name_guard(self) -> NameGuard:
        return NameGuard(confirm_new_source=bool(self.confirm_new_source.data))
