from __future__ import annotations

from wtforms import BooleanField, SelectField, StringField, TextAreaField

from claimtrack.models import MAX_NOTE
from claimtrack.web.forms import KIND_CHOICES, VersionedForm, confirm_new, name_field, suggesting


class SpeakerForm(VersionedForm):
    """Fills SpeakerCreate (new) or SpeakerUpdate (edit)."""

    name = StringField(
        "Name",
        render_kw=suggesting("speaker"),
        description="For an unnamed source, describe them: 'Senior rebel official'.",
    )
    kind = SelectField("Kind", choices=KIND_CHOICES[1:], default="person")
    description = TextAreaField(
        "Role or description",
        render_kw={"rows": 2, "maxlength": MAX_NOTE},
        description="E.g. 'spokesman', 'activist on one of the last convoys'.",
    )
    affiliation = name_field("Speaks for", "speaker", "The organisation this speaker speaks for; created if new.")
    anonymous = BooleanField("Unnamed source", description="The report does not name this speaker.")
    confirm_new_speaker = confirm_new("speaker")
    NAME_FIELDS = {"speaker": "name"}
