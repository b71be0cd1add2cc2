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

RELATION_CHOICES = [choice(r.value, r.value) for r in (Relation.contradicts, Relation.supports, Relation.qualifies)]


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

    def has_new_statement(self) -> bool:
        return bool((self.text.data or "").strip() or (self.speaker.data or "").strip())

    def to_link(self) -> LinkCreate:
        """The link, with the statement picked or the new one: every mistake of both is reported at once."""
        errors: dict[str, str] = {}
        target_id: int | None = None
        raw_target = (self.target_id.data or "").strip().lstrip("#")
        if raw_target:
            if raw_target.isascii() and raw_target.isdigit() and len(raw_target) < 19:
                target_id = int(raw_target)
            else:
                errors["target_id"] = "Pick a statement from the list (its number)."
        new_claim: ClaimCreate | None = None
        if self.has_new_statement():
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
