"""What a complaint costs the store's support team: the profile's ``support:`` section.

Expected complaints (from the patience curve) become expected support contacts, and contacts
become money, per 1,000 orders::

    support:
      contacts_per_complaint: 1.0   # a complaint is one contact (a chat, a call, an email)
      cost_per_contact: 8.01        # a live-channel contact
      self_service_cost: 0.10       # the same question answered by a working tracking page
      currency: USD

The defaults are Gartner's 2019 Customer Service and Support Leader poll: live channels (phone,
chat, email) cost an average of $8.01 per contact, self-service channels about $0.10
(reported by CRM magazine, "Gartner Survey Finds Self-Service Insufficient", 26 Nov 2019,
https://www.destinationcrm.com/Articles/CRM-Insights/Insight/Gartner-Survey-Finds-Self-Service-Insufficient-135436.aspx).
They are industry averages, not your store's: put your own cost per contact here.
"""

from __future__ import annotations

from pydantic import Field

from peakbench.config.base import Spec

SOURCE = (
    "Gartner 2019 Customer Service and Support Leader poll: $8.01 per live-channel contact, "
    "$0.10 self-service (CRM magazine, 26 Nov 2019, https://www.destinationcrm.com/Articles/"
    "CRM-Insights/Insight/Gartner-Survey-Finds-Self-Service-Insufficient-135436.aspx)"
)
"""Where the defaults come from, as the reports cite it."""


class SupportSpec(Spec):
    """How expected complaints turn into support contacts and their cost (per 1,000 orders)."""

    contacts_per_complaint: float = Field(default=1.0, ge=0, le=100)
    """Support contacts one complaint makes (a customer who writes, then calls: 2)."""
    cost_per_contact: float = Field(default=8.01, ge=0)
    """Cost of one live-channel contact, in ``currency`` (Gartner 2019: $8.01)."""
    self_service_cost: float = Field(default=0.10, ge=0)
    """Cost of the same question answered by self-service, a tracking page that moved
    (Gartner 2019: $0.10)."""
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    """ISO 4217 code of both costs."""
