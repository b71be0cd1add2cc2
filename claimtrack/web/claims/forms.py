"""Forms of the claims blueprint: a claim, and a link from another statement to it."""

from __future__ import annotations

import re
import secrets
from typing import Any

from wtforms import (
    BooleanField,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)

from claimtrack.models import MAX_NOTE, ClaimCreate, LinkCreate, Relation
from claimtrack.services.claims import EntryGuard
from claimtrack.services.errors import InvalidInput
from claimtrack.web.forms import VERDICT_CHOICES, ClaimFieldsForm, VersionedForm, build, choice

MAX_SEARCH = 200
RELATIONS = [r.value for r in (Relation.contradicts, Relation.supports, Relation.qualifies)]
RELATION_CHOICES = [choice(r, r) for r in RELATIONS]


class ClaimForm(ClaimFieldsForm, VersionedForm):
    remove_sources = SelectMultipleField(
        "Remove these sources",
        coerce=int,
        choices=[],
        validate_choice=False,
        option_widget=widgets.CheckboxInput(),
        widget=widgets.ListWidget(prefix_label=False),
    )


TOKEN = re.compile(r"[A-Za-z0-9_-]{16,100}")


def new_form_token() -> str:
    return secrets.token_urlsafe(24)


class EntryGuardFields(ClaimFieldsForm):
    """The fields of a form that records a new statement: its one-time token and "Save anyway"."""

    form_token = HiddenField(default=new_form_token)  # a fresh one each time an empty form is rendered
    confirm_duplicate = BooleanField(
        "Save anyway", description="The statement is already recorded, and this is another time it was said."
    )

    def entry_guard(self) -> EntryGuard:
        # The raw value: a POST without the field must not get a freshly generated default.
        raw = (self.form_token.raw_data or [""])[0].strip()
        if raw and not TOKEN.fullmatch(raw):
            raise InvalidInput({"form_token": "The form's token is damaged; reload the page."})
        return EntryGuard(
            form_token=raw or None, confirm_duplicate=bool(self.confirm_duplicate.data), names=self.name_guard()
        )


class NewClaimForm(ClaimForm, EntryGuardFields):
    pass


class LinkForm(EntryGuardFields):
    """``target_id`` picks an existing statement; otherwise the statement fields record a new one."""

    relation = SelectField(
        "Relation", choices=RELATION_CHOICES, default=Relation.contradicts.value, validate_choice=False
    )
    note = TextAreaField(
        "Why they are linked",
        render_kw={"rows": 3, "maxlength": MAX_NOTE},
        description="What a reader should know about this link.",
    )
    target_id = StringField("Existing statement")
    # The search box belongs to the same form, so searching keeps everything else typed (see NewLink.post).
    q = StringField(
        "Find an existing statement",
        render_kw={"maxlength": MAX_SEARCH, "type": "search"},
        description="Words from the statement, the speaker's name or whom they speak for, or a source's title or outlet.",
    )

    def search_words(self) -> str:
        return (self.q.data or "").strip()[:MAX_SEARCH]

    def relation_shown(self) -> str:
        """The relation the select shows: an unknown value leaves the first option (contradicts) selected."""
        return self.relation.data if self.relation.data in RELATIONS else RELATIONS[0]

    def picked_id(self) -> int | None:
        """The statement picked so far, when it is a plain number (to_link reports anything else)."""
        raw = (self.target_id.data or "").strip().lstrip("#")
        return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 19 else None

    def has_new_statement(self) -> bool:
        return bool((self.text.data or "").strip() or (self.speaker.data or "").strip())

    def picks_existing(self) -> bool:
        """A statement is picked: the radio group's default is "None of these: I record a new statement"."""
        return bool((self.target_id.data or "").strip().lstrip("#"))

    def to_link(self) -> LinkCreate:
        """The link, with the statement picked or the new one: every mistake is reported at once.

        A pick decides: the form offers the statements like the one typed to be picked "instead of recording it
        again", so the typed statement is then left unrecorded (the save says so) rather than refused."""
        errors: dict[str, str] = {}
        target_id: int | None = None
        if self.picks_existing():
            target_id = self.picked_id()
            if target_id is None:
                errors["target_id"] = "Pick a statement from the list (its number)."
        new_claim: ClaimCreate | None = None
        if not self.picks_existing() and self.has_new_statement():
            try:
                new_claim = self.to_model(ClaimCreate)
            except InvalidInput as exc:
                errors.update(exc.errors)
        data: dict[str, Any] = {"relation": self.relation.data or "", "note": self.note.data}
        try:
            link = build(LinkCreate, data)
        except InvalidInput as exc:
            errors.update(exc.errors)
        if errors:
            raise InvalidInput(errors)
        return link.model_copy(update={"target_id": target_id, "new_claim": new_claim})


class LinkEditForm(VersionedForm):
    """Fills LinkUpdate: the relation and the note."""

    relation = SelectField("Relation", choices=RELATION_CHOICES, validate_choice=False)
    note = TextAreaField("Why they are linked", render_kw={"rows": 3, "maxlength": MAX_NOTE})


class VerdictForm(VersionedForm):
    """The claim page's quick verdict form: fills VerdictChange (a rationale needs a verdict)."""

    verdict = SelectField("Verdict", choices=VERDICT_CHOICES, default="")
    verdict_rationale = TextAreaField("Why this verdict", render_kw={"rows": 2, "maxlength": MAX_NOTE})


class UnretractForm(VersionedForm):
    """Undo a retraction: fills Retraction (a reason is required), kept in the history."""

    reason = TextAreaField(
        "Why the retraction is undone",
        render_kw={"rows": 2, "maxlength": MAX_NOTE},
        description="Kept in the history beside the change.",
    )
