"""`suitwb sign`, `suitwb keys` and `suitwb audit` (issue 3): thin wrappers over
`workbench.signing`, `signing.management` and `signing.audit`.

The only place a PIN is typed: `TerminalPinProvider` asks on the terminal (never echoing)
when neither the key URI, SUITWB_PIN nor a pin-source supplies one.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import sys
from pathlib import Path

from signing.algorithms import SECRET, kind_for_algorithm, parse_algorithm
from signing.audit import SigningAuditLog
from signing.envelope import BlockPolicy
from signing.errors import KeyReferenceError, ModuleNotFound, PinUnavailable, TokenError
from signing.external import signing_request
from signing.files import write_atomic
from signing.keyref import Pkcs11Uri, parse_key_reference
from signing.management import (
    FORMATS,
    export_public,
    generate,
    generate_file_key,
    generate_secret_file,
    inventory,
    parse_kind,
)
from signing.pin import PinRequest
from signing.token import SOFTHSM_MODULE, find_modules
from suit.cose import CoseAlgorithm, algorithm_name
from workbench.cli.hsslms_cmds import add_hss_lms_options, generate_hss_lms, print_hss_lms_keys
from workbench.signing import (
    SignOptions,
    export_tbs_file,
    import_signature_file,
    sign_release,
)

logger = logging.getLogger(__name__)


class TerminalPinProvider:
    """Asks for a PIN on the controlling terminal; refuses when there is none (CI)."""

    def get_pin(self, request: PinRequest) -> str:
        """Prompt without echo."""
        if not sys.stdin.isatty():
            raise PinUnavailable(f"a {request.purpose} is needed for {request.target} "
                                 "and there is no terminal to ask on")
        try:
            return getpass.getpass(f"{request.purpose.capitalize()} for {request.target}: ")
        except EOFError as exc:
            raise PinUnavailable(f"no {request.purpose} entered") from exc


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add this module's commands to the `suitwb` parser."""
    _register_sign(sub)
    _register_keys(sub)
    _register_audit(sub)


def _register_sign(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("sign", help="add a signature (or MAC) to an envelope",
                       description="Add one authentication block to a SUIT envelope. The "
                       "manifest is not changed. Two-phase: --export-tbs, then "
                       "--import-signature.")
    p.add_argument("input", type=Path, metavar="IN", help="the envelope to sign")
    p.add_argument("-o", "--output", type=Path, metavar="OUT", help="the signed envelope")
    p.add_argument("--key", metavar="REF", action="append", default=[],
                   help="key file or pkcs11: URI (for external signing: the public key PEM "
                   "or COSE_Key); repeat it to add one block per key (hybrid: a classical "
                   "and an ML-DSA key)")
    p.add_argument("--alg", metavar="ALG", help="ESP256 (default for P-256), ES256, ESP384, "
                   "ES384, Ed25519, EdDSA, HMAC-256-256, ML-DSA-44/65/87 (an ML-DSA key's own), "
                   "HSS-LMS (an HSS-LMS key file)")
    p.add_argument("--policy", choices=[m.value for m in BlockPolicy], default="refuse",
                   help="when a block for the same key exists (default: refuse)")
    p.add_argument("--operator", metavar="NAME",
                   help="who signs, for the audit log (default: the OS user name)")
    _audit_option(p)
    phase = p.add_mutually_exclusive_group()
    phase.add_argument("--export-tbs", type=Path, metavar="FILE",
                       help="write the exact bytes to be signed, for an external signer")
    phase.add_argument("--import-signature", type=Path, metavar="SIG",
                       help="attach a signature made elsewhere (raw r||s, DER or Ed25519)")
    p.set_defaults(func=_sign)


def _algorithm(args: argparse.Namespace) -> CoseAlgorithm | None:
    return parse_algorithm(args.alg) if args.alg else None


def _require(value: object, option: str, why: str) -> None:
    if value is None:
        raise KeyReferenceError(f"{option} is required {why}",
                                hint=f"Add {option} to the command line.")


def _sign(args: argparse.Namespace) -> int:
    _require(args.key or None, "--key", "to sign")
    if (args.export_tbs or args.import_signature) and len(args.key) != 1:
        raise KeyReferenceError("external signing takes exactly one --key",
                                hint="Export and import each external signer's block in turn.")
    if args.export_tbs is not None:
        tbs = export_tbs_file(args.input, args.export_tbs, Path(args.key[0]), _algorithm(args))
        print(f"wrote {len(tbs.data)} bytes to be signed ({algorithm_name(tbs.algorithm.algorithm)})"
              f" to {args.export_tbs}; sign them with {signing_request(tbs.algorithm)}")
        return 0
    _require(args.output, "-o/--output", "to sign")
    policy = BlockPolicy(args.policy)
    pins = TerminalPinProvider()
    audit = SigningAuditLog(args.audit, pins=pins)
    if args.import_signature is not None:
        outcome = import_signature_file(args.input, args.output, args.import_signature,
                                        Path(args.key[0]), audit, algorithm=_algorithm(args),
                                        policy=policy, operator=args.operator)
        identities, blocks = [outcome.signed.identity], outcome.blocks
        seqs = [outcome.audit_seq]
    else:  # the same use case as the GUI's sign panel: sign, verify, record, write
        options = SignOptions(_algorithm(args), args.operator, make_directory=False)
        result = sign_release(_log_progress, args.input, args.output, args.key, pins, policy,
                              audit, options)
        identities = [one.identity for one in result.signatures]
        blocks, seqs = len(result.report.blocks), list(result.audit_seqs)
    signers = "; ".join(f"{algorithm_name(i.algorithm.algorithm)}, kid {i.kid.hex()}"
                        for i in identities)
    print(f"signed {args.output}: {signers}, {blocks} authentication block(s), verified, "
          f"audit record{'s' if len(seqs) > 1 else ''} {', '.join(map(str, seqs))}")
    return 0


def _log_progress(done: int, total: int, what: str) -> None:
    logger.info("%d/%d %s", done, total, what)


def _register_keys(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    keys = sub.add_parser("keys", help="list, generate and export keys").add_subparsers(
        dest="keys_command", required=True, metavar="ACTION")
    p = keys.add_parser("list", help="PKCS#11 modules, tokens and keys")
    p.add_argument("--module", metavar="PATH", help="only this PKCS#11 module")
    p.add_argument("--token", metavar="LABEL", help="only this token")
    p.add_argument("--login", action="store_true",
                   help="log in to show private and secret keys too (asks for the PIN)")
    p.set_defaults(func=_keys_list)
    p = keys.add_parser("generate", help="generate a key inside a PKCS#11 token, or a "
                        "software key file (-o): a signing key, a stateful HSS-LMS key, or a recipient of "
                        "encrypted payloads",
                        description="In a token: --key URI and --alg. As a PKCS#8 PEM file "
                        "(mode 0600, never overwritten): -o FILE and --type, for example "
                        "--type ml-dsa-65; a stateful HSS-LMS key: -o FILE --type hss-lms. Recipients of "
                        "encrypted payloads: -o FILE --alg X25519|ECDH-P256 (a device key pair: "
                        "FILE and FILE.pub.pem) or A128KW|A256KW (a key-encryption key file; "
                        "with --key URI, inside the token).")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--key", metavar="URI",
                       help="pkcs11:token=LABEL;object=NEW-LABEL[;id=%%01] for the new key")
    where.add_argument("-o", "--output", type=Path, metavar="FILE",
                       help="write a new software private key here (PKCS#8 PEM)")
    p.add_argument("--alg", metavar="ALG",
                   help="what it will sign: ESP256/ES256 (P-256), ESP384/ES384 (P-384), "
                   "Ed25519/EdDSA, HMAC-256-256 (a 256-bit secret), ML-DSA-44/65/87; or a "
                   "recipient: X25519, ECDH-P256, A128KW, A256KW")
    p.add_argument("--type", dest="key_type", metavar="TYPE",
                   help="the key type instead of --alg: p-256, p-384, ed25519, ml-dsa-44, "
                   "ml-dsa-65, ml-dsa-87, hss-lms")
    add_hss_lms_options(p)
    p.add_argument("--kid", metavar="TEXT", help="the kid of a new key-encryption key file")
    p.set_defaults(func=_keys_generate)
    p = keys.add_parser("export", help="export a public key (never a private or secret one)")
    p.add_argument("--key", required=True, metavar="REF", help="key file or pkcs11: URI")
    p.add_argument("-o", "--output", required=True, type=Path, metavar="FILE")
    p.add_argument("--format", choices=FORMATS, default="pem")
    p.set_defaults(func=_keys_export)


def _keys_list(args: argparse.Namespace) -> int:
    modules = [args.module] if args.module else find_modules() or [SOFTHSM_MODULE]
    pins = TerminalPinProvider() if args.login else None
    for module in modules:
        print(f"module {module}")
        try:
            entries = inventory(module, pins, token=args.token, login=args.login)
        except (ModuleNotFound, TokenError) as exc:
            if args.module:  # the one module asked for: its failure is the answer
                raise
            print(f"  (skipped: {exc})")
            continue
        for entry in entries:
            t = entry.token
            print(f"  token {t.label!r}  manufacturer {t.manufacturer!r}  model {t.model!r}"
                  f"  serial {t.serial}")
            if entry.login_problem:
                print(f"    (not logged in: {entry.login_problem}; public keys only)")
            for key in entry.keys:
                print(f"    {key.object_type:<10} {key.kind:<7} id {key.key_id.hex() or '-':<32}"
                      f" label {key.label!r}")
            if not entry.keys:
                print("    (no keys visible" + ("" if entry.logged_in else "; --login shows "
                                                 "private and secret keys") + ")")
    print_hss_lms_keys()
    return 0


def _key_kind(args: argparse.Namespace) -> str:
    if (args.alg is None) == (args.key_type is None):
        raise KeyReferenceError("keys generate needs one of --alg and --type",
                                hint="For example --type ml-dsa-65 or --alg ESP256.")
    return parse_kind(args.key_type) if args.key_type else kind_for_algorithm(parse_algorithm(args.alg))


def _keys_generate(args: argparse.Namespace) -> int:
    from workbench.recipient_keys import generate_recipient, is_recipient_algorithm
    if args.alg is not None and is_recipient_algorithm(args.alg):  # FE §5 recipients
        target = args.key if args.key is not None else str(args.output)
        print(generate_recipient(target, args.alg, args.kid, TerminalPinProvider()).description)
        return 0
    if args.key_type == "hss-lms":
        return generate_hss_lms(args)
    kind = _key_kind(args)
    if args.output is not None and kind == SECRET:  # RFC 9053 §7.3: a COSE_Key secret
        kid = generate_secret_file(args.output)
        print(f"generated HMAC-256-256 secret {args.output} (COSE_Key, mode 0600), kid "
              f"{kid.hex()}; a verifier needs this same file (verify --key, device "
              "--trust-anchor)")
        return 0
    if args.output is not None:
        _public, kid = generate_file_key(args.output, kind)
        print(f"generated {kind} private key {args.output} (PKCS#8 PEM, mode 0600), kid "
              f"{kid.hex()}; `suitwb keys export --key {args.output}` gives its public key")
        return 0
    ref = parse_key_reference(args.key)
    if not isinstance(ref, Pkcs11Uri):
        raise KeyReferenceError("keys generate --key needs a pkcs11: URI",
                                hint="For a software key file use -o FILE --type TYPE.")
    info = generate(ref, kind, TerminalPinProvider())
    print(f"generated {info.kind} {info.object_type} key {info.label!r} id {info.key_id.hex()}"
          f" on token {ref.token!r}")
    return 0


def _keys_export(args: argparse.Namespace) -> int:
    ref = parse_key_reference(args.key)
    data = export_public(ref, args.format, TerminalPinProvider())
    write_atomic(args.output, data)
    print(f"wrote the public key of {ref.redacted()} to {args.output} ({args.format})")
    return 0


def _register_audit(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    audit = sub.add_parser("audit", help="the signing audit log").add_subparsers(
        dest="audit_command", required=True, metavar="ACTION")
    p = audit.add_parser("show", help="print every signing record")
    _audit_option(p)
    p.set_defaults(func=_audit_show)
    p = audit.add_parser("verify", help="check the log's hash chain and its anchor",
                         description="Exit 0 only when the chain holds and ends exactly at "
                         "the head the anchor token holds; a log without an anchor is only "
                         "self-consistent (exit 1).")
    p.add_argument("--anchor", metavar="URI", help="the anchor to check against, instead of "
                   "the one named beside the log (pkcs11:token=...;object=...)")
    _audit_option(p)
    p.set_defaults(func=_audit_verify)
    p = audit.add_parser("init", help="anchor the log's head in a PKCS#11 token",
                         description="Keep the chain head as a private data object in a "
                         "token, so appending, truncating or deleting the log is detected.")
    p.add_argument("--anchor", required=True, metavar="URI",
                   help="pkcs11:token=LABEL;object=NAME?pin-source=file:PATH (no pin-value)")
    _audit_option(p)
    p.set_defaults(func=_audit_init)


def _audit_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--audit", metavar="FILE|DSN",
                        help="the signing audit log: a file or postgresql://USER@HOST/DB "
                             "(password from ~/.pgpass or PGPASSWORD; default: $SUITWB_AUDIT, "
                             "else the data dir's file)")


def _audit_show(args: argparse.Namespace) -> int:
    log = SigningAuditLog(args.audit)
    entries = log.entries()
    print(f"{log.name}: {len(entries)} record(s)")
    for seq, r in entries:
        print(f"{seq:>5} {r.time_utc} {r.operator}@{r.host} {r.algorithm} kid {r.kid} "
              f"seq-number {r.sequence_number} manifest {r.manifest_digest} "
              f"output {r.output_digest} {r.output_path} key {r.key_reference}")
    return 0


def _audit_verify(args: argparse.Namespace) -> int:
    log = SigningAuditLog(args.audit, pins=TerminalPinProvider())
    verdict = log.check(args.anchor)
    if verdict.anchored:
        print(f"{log.name}: intact and anchored: {verdict.count} record(s), the head matches "
              f"the token ({verdict.anchor})")
        return 0
    what = f"{verdict.count} record(s)" if log.exists() else "no log file"
    print(f"{log.name}: self-consistent only, not anchored ({what}): the files agree with "
          "each other, which anybody able to write them can arrange. Anchor the log with "
          "`suitwb audit init --anchor URI` (docs/signing.md).")
    return 1


def _audit_init(args: argparse.Namespace) -> int:
    log = SigningAuditLog(args.audit, pins=TerminalPinProvider())
    verdict = log.init_anchor(args.anchor)
    print(f"{log.name}: anchored in {verdict.anchor} at {verdict.count} record(s)")
    return 0
