"""Form pieces shared by the blueprints, and the bridge from form data to the validating input models.

The WTForms classes render fields and carry the CSRF token; the rules live once, on the pydantic
input models in ``claimtrack.models``, and their errors are put back on the form's fields.
"""

from __future__ import annotations

from typing import Any, TypeVar

from flask_wtf import FlaskForm
from pydantic import BaseModel, ValidationError
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField

try:  # WTForms >= 3.3 deprecates (value, label) tuples as choices
    from wtforms import SelectChoice
except ImportError:  # pragma: no cover - older WTForms
    SelectChoice = None

from claimtrack.models import (
    MAX_NAME,
    MAX_NOTE,
    MAX_TEXT,
    SPEAKER_KIND_LABELS,
    Verdict,
)
from claimtrack.services.errors import InvalidInput

M = TypeVar("M", bound=BaseModel)


def choice(value: Any, label: str) -> Any:
    """One option of a select field, in the form the installed WTForms expects."""
    return SelectChoice(value, label) if SelectChoice is not None else (value, label)


KIND_CHOICES = [choice("", "— choose (default: person) —")] + [
    choice(k.value, label) for k, label in SPEAKER_KIND_LABELS.items()
]
VERDICT_CHOICES = [choice("", "— none yet —")] + [choice(v.value, v.value.capitalize()) for v in Verdict]


def maxlength(n: int) -> dict[str, Any]:
    return {"maxlength": n}


def build(model: type[M], data: dict[str, Any], error_fields: dict[str, str] | None = None) -> M:
    """Validate ``data`` with an input model; a failure becomes InvalidInput keyed by form field names."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput.from_validation_error(exc, error_fields) from None


class InputForm(FlaskForm):
    """A form whose fields fill one input model: ``to_model`` validates them with its rules."""

    ERROR_FIELDS: dict[str, str] = {}  # pydantic location -> form field, for nested models

    def model_data(self) -> dict[str, Any]:
        """The fields the input model reads, by its names (every field but the token and the version)."""
        # An empty field is "", as typed: the model turns blanks into None or says the field is required.
        return {f.name: "" if f.data is None else f.data for f in self if f.name not in ("csrf_token", "version")}

    def to_model(self, model: type[M]) -> M:
        return build(model, self.model_data(), self.ERROR_FIELDS)


class ClaimFieldsForm(InputForm):
    """The fields of a statement: shared by the new-claim, edit-claim and new-link forms."""

    text = TextAreaField(
        "Statement",
        render_kw={"rows": 4, **maxlength(MAX_TEXT)},
        description="The words as reported: a direct quote, or the report's paraphrase.",
    )
    verbatim = BooleanField("Direct quote (verbatim)", description="Tick if these are the speaker's own words.")
    speaker = StringField(
        "Speaker",
        render_kw={"list": "speaker-names", "autocomplete": "off", **maxlength(MAX_NAME)},
        description="A person, body or group. An existing speaker is matched by name.",
    )
    speaker_kind = SelectField(
        "Kind of speaker", choices=KIND_CHOICES, default="", description="Only used when the speaker is new."
    )
    affiliation = StringField(
        "Speaks for",
        render_kw={"list": "speaker-names", "autocomplete": "off", **maxlength(MAX_NAME)},
        description="The organisation the speaker speaks for, e.g. ICRC.",
    )
    stated_on = StringField("Date stated", render_kw={"placeholder": "YYYY-MM-DD", "inputmode": "numeric"})
    stated_time = StringField(
        "Time of day",
        render_kw={"placeholder": "HH:MM", "inputmode": "numeric"},
        description="Optional, 24-hour clock.",
    )
    context = TextAreaField(
        "Where and how it was said",
        render_kw={"rows": 2, **maxlength(MAX_NOTE)},
        description="E.g. 'on a visit to Japan', 'in an audio message to journalists'.",
    )
    event = StringField(
        "Event",
        render_kw={"list": "event-names", "autocomplete": "off", **maxlength(MAX_NAME)},
        description="E.g. 'Aleppo evacuation, December 2016'. Matched by name, else created.",
    )
    source_url = StringField("Source URL", render_kw={"type": "url", "placeholder": "https://", **maxlength(2000)})
    source_title = StringField("Source title", render_kw=maxlength(MAX_NAME * 2))
    outlet = StringField("Outlet", render_kw=maxlength(MAX_NAME), description="E.g. Financial Times.")
    source_published_on = StringField("Source published on", render_kw={"placeholder": "YYYY-MM-DD"})
    verdict = SelectField("Verdict", choices=VERDICT_CHOICES, default="")
    verdict_rationale = TextAreaField("Why this verdict", render_kw={"rows": 2, **maxlength(MAX_NOTE)})

    # pydantic location -> form field, for putting errors back where they belong
    ERROR_FIELDS = {
        "speaker.name": "speaker",
        "speaker.kind": "speaker_kind",
        "speaker.affiliation": "affiliation",
        "source.url": "source_url",
        "source.title": "source_title",
        "source.outlet": "outlet",
        "source.published_on": "source_published_on",
    }

    def model_data(self) -> dict[str, Any]:
        return {
            "text": self.text.data or "",
            "verbatim": bool(self.verbatim.data),
            "stated_on": self.stated_on.data,
            "stated_time": self.stated_time.data,
            "context": self.context.data,
            "verdict": self.verdict.data,
            "verdict_rationale": self.verdict_rationale.data,
            "speaker": {
                "name": self.speaker.data or "",
                "kind": self.speaker_kind.data or "person",
                "affiliation": self.affiliation.data,
            },
            "source": {
                "url": self.source_url.data,
                "title": self.source_title.data,
                "outlet": self.outlet.data,
                "published_on": self.source_published_on.data,
            },
            "event": self.event.data,
        }


class VersionedForm(InputForm):
    """An edit form that remembers which version of the record the editor started from."""

    version = HiddenField()

    def expected_version(self) -> int | None:
        raw = str(self.version.data or "").strip()
        if not raw:
            return None  # a client that sends no version gets no stale-edit check
        if not (raw.isascii() and raw.isdigit()) or len(raw) > 9:  # "²".isdigit() is true too
            raise InvalidInput({"version": "The form's version field is damaged; reload the page."})
        return int(raw)


class RetractForm(VersionedForm):
    reason = TextAreaField(
        "Why it is retracted",
        render_kw={"rows": 3, "maxlength": MAX_NOTE},
        description="Shown with the retracted item, on its page and in the open data.",
    )
