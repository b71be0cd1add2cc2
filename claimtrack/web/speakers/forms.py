from __future__ import annotations

from wtforms import BooleanField, SelectField, StringField, TextAreaField

from claimtrack.models import MAX_NAME, MAX_NOTE, SpeakerCreate
from claimtrack.web.forms import KIND_CHOICES, VersionedForm, build


class SpeakerForm(VersionedForm):
    name = StringField("Name", render_kw={"maxlength": MAX_NAME},
                       description="For an unnamed source, describe them: 'Senior rebel official'.")
    kind = SelectField("Kind", choices=KIND_CHOICES[1:], default="person")
    description = TextAreaField("Role or description", render_kw={"rows": 2, "maxlength": MAX_NOTE},
                                description="E.g. 'spokesman', 'activist on one of the last convoys'.")
    affiliation = StringField("Speaks for", render_kw={"list": "speaker-names", "autocomplete": "off", "maxlength": MAX_NAME},
                              description="The organisation this speaker speaks for; created if new.")
    anonymous = BooleanField("Unnamed source", description="The report does not name this speaker.")

    def to_model(self) -> SpeakerCreate:
        return build(SpeakerCreate, {
            "name": self.name.data or "", "kind": self.kind.data or "person", "description": self.description.data,
            "affiliation": self.affiliation.data, "anonymous": bool(self.anonymous.data),
        })
