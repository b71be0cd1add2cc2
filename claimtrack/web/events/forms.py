from __future__ import annotations

from wtforms import BooleanField, StringField, TextAreaField

from claimtrack.models import MAX_NAME, MAX_NOTE
from claimtrack.services.names import NameGuard
from claimtrack.web.forms import VersionedForm


class EventForm(VersionedForm):
    """Fills EventCreate (new) or EventUpdate (edit)."""

    name = StringField(
        "Name",
        render_kw={"maxlength": MAX_NAME, "autocomplete": "off", "data-suggest": "event"},
        description="E.g. 'Aleppo evacuation, December 2016'.",
    )
    description = TextAreaField("Description", render_kw={"rows": 3, "maxlength": MAX_NOTE})
    starts_on = StringField("Starts on", render_kw={"placeholder": "YYYY-MM-DD"})
    ends_on = StringField("Ends on", render_kw={"placeholder": "YYYY-MM-DD"})
    confirm_new_event = BooleanField(
        "It is a different event", description="None of the similar events above: add this one as new."
    )
    NAME_FIELDS = {"event": "name"}  # where NearNames is shown

    def name_guard(self) -> NameGuard:
        return NameGuard(confirm_new_event=bool(self.confirm_new_event.data))
