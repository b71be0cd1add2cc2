from __future__ import annotations

from wtforms import StringField, TextAreaField

from claimtrack.models import MAX_NAME, MAX_NOTE, EventCreate
from claimtrack.web.forms import VersionedForm, build


class EventForm(VersionedForm):
    name = StringField("Name", render_kw={"maxlength": MAX_NAME},
                       description="E.g. 'Aleppo evacuation, December 2016'.")
    description = TextAreaField("Description", render_kw={"rows": 3, "maxlength": MAX_NOTE})
    starts_on = StringField("Starts on", render_kw={"placeholder": "YYYY-MM-DD"})
    ends_on = StringField("Ends on", render_kw={"placeholder": "YYYY-MM-DD"})

    def to_model(self) -> EventCreate:
        return build(EventCreate, {"name": self.name.data or "", "description": self.description.data,
                                   "starts_on": self.starts_on.data, "ends_on": self.ends_on.data})
