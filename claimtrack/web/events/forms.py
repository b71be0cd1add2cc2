from __future__ import annotations

from wtforms import StringField, TextAreaField

from claimtrack.models import MAX_NOTE
from claimtrack.web.forms import VersionedForm, confirm_new, suggesting


class EventForm(VersionedForm):
    """Fills EventCreate (new) or EventUpdate (edit)."""

    name = StringField(
        "Name",
        render_kw=suggesting("event"),
        description="E.g. 'Aleppo evacuation, December 2016'.",
    )
    description = TextAreaField("Description", render_kw={"rows": 3, "maxlength": MAX_NOTE})
    starts_on = StringField("Starts on", render_kw={"placeholder": "YYYY-MM-DD"})
    ends_on = StringField("Ends on", render_kw={"placeholder": "YYYY-MM-DD"})
    confirm_new_event = confirm_new("event")
    NAME_FIELDS = {"event": "name"}
