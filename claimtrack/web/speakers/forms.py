from __future__ import annotations

from wtforms import BooleanField, SelectField, StringField, TextAreaField

from claimtrack.models import MAX_NAME, MAX_NOTE
from claimtrack.services.names import NameGuard
from claimtrack.web.forms import KIND_CHOICES, VersionedForm


class SpeakerForm(VersionedForm):
    """Fills SpeakerCreate (new) or SpeakerUpdate (edit)."""

    name = StringField(
        "Name",
        render_kw={"maxlength": MAX_NAME, "autocomplete": "off", "data-suggest": "speaker"},
        description="For an unnamed source, describe them: 'Senior rebel official'.",
    )
    kind = SelectField("Kind", choices=KIND_CHOICES[1:], default="person")
    description = TextAreaField(
        "Role or description",
        render_kw={"rows": 2, "maxlength": MAX_NOTE},
        description="E.g. 'spokesman', 'activist on one of the last convoys'.",
    )
    affiliation = StringField(
        "Speaks for",
        render_kw={"list": "speaker-names", "autocomplete": "off", "data-suggest": "speaker", "maxlength": MAX_NAME},
        description="The organisation this speaker speaks for; created if new.",
    )
    anonymous = BooleanField("Unnamed source", description="The report does not name this speaker.")
    confirm_new_speaker = BooleanField(
        "It is a different speaker", description="None of the similar speakers above: add this one as new."
    )
    NAME_FIELDS = {"speaker": "name"}  # where NearNames is shown

    def name_guard(self) -> NameGuard:
        return NameGuard(confirm_new_speaker=bool(self.confirm_new_speaker.data))
