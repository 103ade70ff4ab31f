"""The Code members view (issue 15, helper E): member companies by country and region,
the share meeting all six criteria, reports overdue. Routes join `views.bp`."""

from __future__ import annotations
