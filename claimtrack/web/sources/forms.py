from __future__ import annotations

from wtforms import StringField

from claimtrack.models import MAX_NAME, SourceCreate
from claimtrack.web.forms import VersionedForm, build


class SourceForm(VersionedForm):
    title = StringField("Title", render_kw={"maxlength": MAX_NAME * 2})
    outlet = StringField("Outlet", render_kw={"maxlength": MAX_NAME}, description="E.g. Financial Times, Reuters.")
    url = StringField("URL", render_kw={"type": "url", "placeholder": "https://", "maxlength": 2000})
    published_on = StringField("Published on", render_kw={"placeholder": "YYYY-MM-DD"})

    def to_model(self) -> SourceCreate:
        return build(SourceCreate, {"title": self.title.data, "outlet": self.outlet.data, "url": self.url.data,
                                    "published_on": self.published_on.data})
