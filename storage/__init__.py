"""Shared databases (issue 18): the PostgreSQL connection, DSN redaction and the versioned
migrations that the factory records (`flasher.records_pg`) and the signing audit log
(`signing.audit_pg`) both use. A layer beside `fileio`: the standard library, psycopg and
`suit.errors` only."""
