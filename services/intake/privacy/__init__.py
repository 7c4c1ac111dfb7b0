"""Personal data under control (PIPL, issue 10): who sees a citizen's contact in full, a unit's
recorded reveal of it, the audit of reveals, and the retention policy that erases it."""
