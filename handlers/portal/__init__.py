"""The MDO claim handlers' portal (design.md §3.6): server-rendered pages in the NHS.UK design
system. Views are thin: reads go through claims.selectors, writes through the services."""
