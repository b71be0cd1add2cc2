"""Forms of the claims blueprint: a claim, and a link from another statement to it."""

from __future__ import annotations

from typing import Any

from wtforms import (
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)

from claimtrack.models import MAX_NOTE, ClaimCreate, LinkCreate, LinkUpdate, Relation
from claimtrack.services.errors import InvalidInput
from claimtrack.web.forms import ClaimFieldsForm, VersionedForm, build, choice

RELATION_CHOICES = [choice(r.value, r.value) for r in (Relation.contradicts, Relation.supports, Relation.qualifies)]


class ClaimForm(ClaimFieldsForm, VersionedForm):
    remove_sources = SelectMultipleField(
        "Remove these sources", coerce=int, choices=[], validate_choice=False,
        option_widget=widgets.CheckboxInput(), widget=widgets.ListWidget(prefix_label=False),
    )

    def to_model(self) -> ClaimCreate:
        return build(ClaimCreate, self.claim_data(), self.ERROR_FIELDS)


class LinkForm(ClaimFieldsForm):
    """``target_id`` picks an existing statement; otherwise the statement fields record a new one."""

    relation = SelectField("Relation", choices=RELATION_CHOICES, default=Relation.contradicts.value,
                           validate_choice=False)
    note = TextAreaField("Why they are linked", render_kw={"rows": 3, "maxlength": MAX_NOTE},
                         description="What a reader should know about this link.")
    target_id = StringField("Existing statement")

    def has_new_statement(self) -> bool:
        return bool((self.text.data or "").strip() or (self.speaker.data or "").strip())

    def to_model(self) -> LinkCreate:
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
                new_claim = build(ClaimCreate, self.claim_data(), self.ERROR_FIELDS)
            except InvalidInput as exc:
                errors.update(exc.errors)
        data: dict[str, Any] = {"relation": self.relation.data or "", "note": self.note.data}
        try:
            link = build(LinkCreate, data)
        except InvalidInput as exc:
            errors.update(exc.errors)
        if errors:
            raise InvalidInput(errors)
        link.target_id = target_id
        link.new_claim = new_claim
        return link


class LinkEditForm(VersionedForm):
    relation = SelectField("Relation", choices=RELATION_CHOICES, validate_choice=False)
    note = TextAreaField("Why they are linked", render_kw={"rows": 3, "maxlength": MAX_NOTE})

    def to_model(self) -> LinkUpdate:
        return build(LinkUpdate, {"relation": self.relation.data or "", "note": self.note.data})
