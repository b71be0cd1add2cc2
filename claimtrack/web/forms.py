"""Form pieces shared by the blueprints, and the bridge from form data to the validating input models.

The WTForms classes render fields and carry the CSRF token; the rules live once, on the pydantic
input models in ``claimtrack.models``, and their errors are put back on the form's fields.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import re
from collections.abc import Callable
from typing import Any, ClassVar, Literal, Self, TypeVar

from flask import request
from flask_wtf import FlaskForm
from pydantic import BaseModel, ValidationError
from werkzeug.datastructures import MultiDict
from wtforms import BooleanField, Field, HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.core import UnboundField
from wtforms.validators import ValidationError as FieldError

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
    check_language,
    default_language,
)
from claimtrack.services.errors import InvalidInput
from claimtrack.services.names import Kind, NameGuard

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


def suggesting(kind: Kind, n: int = MAX_NAME, names_list: str | None = None) -> dict[str, Any]:
    """render_kw of a name field that suggests recorded names of ``kind`` as one types (static/suggest.js);
    ``names_list`` is the id of a <datalist> that serves without JavaScript."""
    listed = {"list": names_list} if names_list else {}
    return {**listed, "autocomplete": "off", "data-suggest": kind, **maxlength(n)}


def name_field(label: str, kind: Literal["speaker", "event"], description: str) -> StringField:
    """A field that names a speaker or an event: suggests recorded names as one types, and without JavaScript
    offers the page's <datalist> of them (``speaker-names``, ``event-names`` in _macros.html)."""
    return StringField(label, render_kw=suggesting(kind, names_list=f"{kind}-names"), description=description)


def confirm_new(kind: Kind, verb: str = "add") -> BooleanField:
    """The box shown once a save is refused because similar names exist (NearNames): save the typed name anyway.
    Its name, ``confirm_new_<kind>``, is what ``InputForm.name_guard`` reads."""
    return BooleanField(
        f"It is a different {kind}", description=f"None of the similar {kind}s above: {verb} this one as new."
    )


# Dates as people type them where no date picker helps: day first, as in the newsrooms this serves.
_DAY_FIRST = re.compile(r"([0-9]{1,2})[/.]([0-9]{1,2})[/.]([0-9]{4})")
DATE_FORMATS = "YYYY-MM-DD (2016-12-16), 16/12/2016 or 16.12.2016 (day, month, year)"


def day_first_date(value: str) -> str:
    """16/12/2016 or 16.12.2016 -> 2016-12-16; anything else is returned as given for the validator."""
    match = _DAY_FIRST.fullmatch(value.strip())
    if not match:
        return value.strip()
    day, month, year = (int(part) for part in match.groups())
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:
        return value.strip()  # 31/02/2016: the validator names the formats


class DateInput(StringField):
    """A type=date input (browsers send 2016-12-16) that also takes 16/12/2016 and 16.12.2016, day first."""

    def __init__(self, label: str, **kwargs: Any) -> None:
        render_kw = {"type": "date", "placeholder": "YYYY-MM-DD", **kwargs.pop("render_kw", {})}
        description = kwargs.pop("description", None) or f"E.g. {DATE_FORMATS}."
        super().__init__(label, render_kw=render_kw, description=description, **kwargs)

    def process_formdata(self, valuelist: list[Any]) -> None:
        super().process_formdata(valuelist)
        if valuelist and isinstance(valuelist[0], str):
            self.data = day_first_date(valuelist[0])

    def pre_validate(self, form: Any) -> None:
        # Only the shape is checked here; the input model says whether such a day exists or is too late.
        data: Any = self.data
        value = (data or "").strip()
        if value and not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
            raise FieldError(f"Not a date this form reads: write it as {DATE_FORMATS}.")


def _language_tag(form: Any, field: Field) -> None:
    try:
        check_language(field.data or "")
    except ValueError as exc:
        raise FieldError(str(exc)) from None


def build(model: type[M], data: dict[str, Any], error_fields: dict[str, str] | None = None) -> M:
    """Validate ``data`` with an input model; a failure becomes InvalidInput keyed by form field names."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput.from_validation_error(exc, error_fields) from None


class InputForm(FlaskForm):
    """A form whose fields fill one input model: ``to_model`` validates them with its rules."""

    ERROR_FIELDS: dict[str, str] = {}  # pydantic location -> form field, for nested models
    NAME_FIELDS: dict[str, str] = {}  # kind of name -> the field where NearNames is shown (see confirm_new)

    def name_guard(self) -> NameGuard:
        """Which of the form's kinds of name the editor has ticked as new despite similar ones."""
        return NameGuard(**{f"confirm_new_{kind}": bool(self[f"confirm_new_{kind}"].data) for kind in self.NAME_FIELDS})

    def model_data(self) -> dict[str, Any]:
        """The fields the input model reads, by its names (every field but the token and the version)."""
        # An empty field is "", as typed: the model turns blanks into None or says the field is required.
        return {f.name: "" if f.data is None else f.data for f in self if f.name not in ("csrf_token", "version")}

    def to_model(self, model: type[M]) -> M:
        return build(model, self.model_data(), self.ERROR_FIELDS)


class Unposted:
    """A field a POST did not send, in a form built for what was posted (PostedFieldsForm): it holds the value
    the bound field would have had (its default, read as a missing input), validates as that field would
    (always: only fields without validators stand in), and is never rendered."""

    raw_data: ClassVar[list[str]] = []
    process_errors: ClassVar[list[str]] = []

    def __init__(self, name: str, data: Any) -> None:
        self.name = self.short_name = name
        self.data = data
        self.errors: list[str] = []

    def validate(self, form: Any, extra_validators: Any = ()) -> bool:
        return True


_UNSET = object()  # a field that is always bound
_UNKNOWN = object()  # not looked at yet


class PostedFieldsForm(InputForm):
    """A form that, for a POST, binds only the fields the request sent (``posted()``); every other field stands
    in as Unposted with the value it would have had. Binding and processing a field costs 13-15 µs, and a
    statement form has 30 of which a save usually sends a few. When the form must be shown again (an
    error), ``whole()`` builds the full form from the same input and carries over every value and error, so
    the page is the one the full form would have given."""

    _unposted_cache: ClassVar[dict[str, Any]]  # field name -> its value when not sent, or _UNSET: always bind
    _posted_classes: ClassVar[Callable[[frozenset[str]], type[Any]]]
    _whole_class: ClassVar[type[PostedFieldsForm] | None] = None
    _field_list: ClassVar[list[tuple[str, UnboundField]]]
    _stand_ins: ClassVar[tuple[tuple[str, Any], ...]] = ()  # a posted class's fields not sent, with their values

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._unposted_cache = {}

        # One subclass per set of sent fields; the set comes from the client, so only the newest few are kept.
        @functools.lru_cache(maxsize=32)
        def posted_class(kept: frozenset[str]) -> type[Any]:
            dropped = [name for name, _ in cls._all_fields() if name not in kept]
            stand_ins = tuple((name, cls._unposted_cache[name]) for name in dropped)
            return type(cls.__name__, (cls,), {**dict.fromkeys(dropped), "_whole_class": cls, "_stand_ins": stand_ins})

        cls._posted_classes = posted_class

    @classmethod
    def _all_fields(cls) -> list[tuple[str, UnboundField]]:
        found: list[tuple[str, UnboundField]] | None = cls.__dict__.get("_field_list")
        if found is None:  # dir() of a form class is slow: once per class
            found = [
                (name, field)
                for name in dir(cls)
                if not name.startswith("_") and isinstance(field := getattr(cls, name), UnboundField)
            ]
            cls._field_list = found
        return found

    @classmethod
    def posted(cls) -> Self:
        """The form for this request's POST, binding only the fields it sent (a GET gets the full form)."""
        sent = request.form
        # Flask-WTF reads files or JSON in other cases: those get the full form.
        if request.method != "POST" or not sent or request.files or cls._whole_class is not None:
            return cls()
        kept = frozenset(
            name for name, field in cls._all_fields() if name in sent or not cls._may_stand_in(name, field)
        )
        posted_class = cls._posted_classes(kept)
        form = posted_class()
        for name, value in posted_class._stand_ins:
            # A value that can change (a list) is copied: each form has its own, like a bound field.
            stand_in = Unposted(name, value if isinstance(value, str | int | None) else copy.deepcopy(value))
            form._fields[name] = stand_in
            setattr(form, name, stand_in)
        return form

    @classmethod
    def _may_stand_in(cls, name: str, unbound: UnboundField) -> bool:
        """Whether a field not sent can stand in: its default is a constant (not made per form, like a token),
        and the field, bound and read as not sent, validates with no error and no validator to run."""
        cached = cls._unposted_cache.get(name, _UNKNOWN)
        if cached is _UNKNOWN:
            cached = _UNSET
            default = unbound.kwargs.get("default")
            if not callable(default) and not unbound.kwargs.get("validators") and not hasattr(cls, f"validate_{name}"):
                probe = cls(formdata=MultiDict())  # once per field and class: a full form that was sent nothing
                field = probe[name]
                if field.validate(probe) and not field.process_errors:
                    cached = field.data
            cls._unposted_cache[name] = cached
        return cached is not _UNSET

    def whole(self) -> PostedFieldsForm:
        """The full form with everything this one holds (values as changed since, errors), to be shown."""
        if self._whole_class is None:
            return self
        full = self._whole_class()
        for name, field in self._fields.items():
            target = full._fields[name]
            target.data = field.data
            target.errors = list(field.errors)
        full.form_errors = list(self.form_errors)
        return full


class ClaimFieldsForm(PostedFieldsForm):
    """The fields of a statement: shared by the new-claim, edit-claim and new-link forms."""

    text = TextAreaField(
        "Statement",
        render_kw={"rows": 4, **maxlength(MAX_TEXT)},
        description="The words as reported: a direct quote, or the report's paraphrase.",
    )
    verbatim = BooleanField("Direct quote (verbatim)", description="Tick if these are the speaker's own words.")
    language = StringField(
        "Language of the statement",
        default=default_language,
        validators=[_language_tag],
        render_kw={"autocomplete": "off", "spellcheck": "false", **maxlength(35)},
        description="A language tag: en, ar, ru, uk, fr, pt-BR … The statement stays in the words it was said in.",
    )
    translation = TextAreaField(
        "Translation",
        render_kw={"rows": 3, **maxlength(MAX_TEXT)},
        description="Optional: the statement in English (or the newsroom's language), shown beside the original.",
    )
    translated_by = StringField(
        "Translated by", render_kw=maxlength(MAX_NAME), description="Who made the translation, e.g. Reuters, our desk."
    )
    speaker = name_field("Speaker", "speaker", "A person, body or group. An existing speaker is matched by name.")
    speaker_kind = SelectField(
        "Kind of speaker", choices=KIND_CHOICES, default="", description="Only used when the speaker is new."
    )
    affiliation = name_field("Speaks for", "speaker", "The organisation the speaker speaks for, e.g. ICRC.")
    stated_on = DateInput("Date stated")
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
    event = name_field("Event", "event", "E.g. 'Aleppo evacuation, December 2016'. Matched by name, else created.")
    source_url = StringField("Source URL", render_kw={"type": "url", "placeholder": "https://", **maxlength(2000)})
    source_title = StringField("Source title", render_kw=suggesting("source", MAX_NAME * 2))
    outlet = StringField("Outlet", render_kw=maxlength(MAX_NAME), description="E.g. Financial Times.")
    source_published_on = DateInput("Source published on")
    verdict = SelectField("Verdict", choices=VERDICT_CHOICES, default="")
    verdict_rationale = TextAreaField("Why this verdict", render_kw={"rows": 2, **maxlength(MAX_NOTE)})
    confirm_new_speaker = confirm_new("speaker", "record")
    confirm_new_source = confirm_new("source", "record")
    confirm_new_event = confirm_new("event", "record")
    # Sent by the buttons next to the similar names: the speaker's or event's name, or the source's id.
    pick_speaker = StringField()
    pick_event = StringField()
    pick_source = StringField()
    NAME_FIELDS = {"speaker": "speaker", "source": "source_title", "event": "event"}

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
            "language": self.language.data,
            "translation": self.translation.data,
            "translated_by": self.translated_by.data,
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
