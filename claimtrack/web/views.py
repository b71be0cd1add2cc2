"""The one shape of every editing page: GET shows the form; POST validates, saves, and redirects.

A page subclass says which form it shows, how to save it, where to go after, and what the page around
the form needs. That page data is loaded only when the form is shown, never before a successful save.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar, Generic, TypeVar

from flask import g, render_template
from flask.views import MethodView
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from claimtrack.services.errors import ClaimtrackError, StaleEdit
from claimtrack.web.auth.access import editor_required
from claimtrack.web.forms import PostedFieldsForm
from claimtrack.web.helpers import apply_error

F = TypeVar("F", bound=FlaskForm)
R = TypeVar("R")  # what a save returns (a record or its id): where to go next is derived from it


class FormPage(MethodView, Generic[F, R], ABC):
    decorators: ClassVar[list[Any]] = [editor_required]
    init_every_request = False
    template: ClassVar[str]
    default_field: ClassVar[str]  # where an error that names no field of the form is shown

    @abstractmethod
    def form(self, **ids: int) -> F:
        """The form, holding the stored values on an edit page (a field missing from a POST keeps them)."""

    @abstractmethod
    def save(self, form: F, **ids: int) -> R:
        """Build the input model from the form and write it; a ClaimtrackError means nothing was stored."""

    @abstractmethod
    def done(self, saved: R, **ids: int) -> Response:
        """The redirect after a committed save."""

    def posted_form(self, **ids: int) -> F:
        """The form a POST is validated and saved with (a form built for what was posted, on the new-statement
        pages); ``shown`` makes it whole again when it must be shown."""
        return self.form(**ids)

    def page(self, form: F, **ids: int) -> dict[str, Any]:
        """What the template shows around the form."""
        return {}

    def stale_notice(self, form: F, **ids: int) -> dict[str, Any] | None:
        """After a refused stale edit: what is saved now (see helpers.stale_notice)."""
        return None

    def get(self, **ids: int) -> str:
        form = self.form(**ids)
        return self.render(form, None, **ids)

    def post(self, **ids: int) -> Response | tuple[str, int]:
        form = self.posted_form(**ids)
        notice = None
        if form.validate_on_submit():
            try:
                saved = self.save(form, **ids)
            except StaleEdit as exc:
                form = shown(form)
                status = apply_error(form, exc, self.default_field)
                notice = self.stale_notice(form, **ids)
            except ClaimtrackError as exc:
                form = shown(form)
                status = apply_error(form, exc, self.default_field)
            else:
                # The write has committed: from here on, a failure must not be reported as "nothing was saved".
                g.write_committed = True
                return self.done(saved, **ids)
        else:
            form = shown(form)
            status = 400
        return self.render(form, notice, **ids), status

    def render(self, form: F, notice: dict[str, Any] | None, **ids: int) -> str:
        return render_template(self.template, form=form, notice=notice, **self.page(form, **ids))


def shown(form: F) -> F:
    """The form as the page shows it: whole, with everything a form built for what was posted holds."""
    return form.whole() if isinstance(form, PostedFieldsForm) else form
