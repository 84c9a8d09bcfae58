"""E-signatures: identity, manifestation, PAdES binder signatures, content approvals, verification, publishing.

API summary (what the CLI, `valgen check`, the qualification and the demo use)::

    from generator.esign.signatories import load_signatories
    people = load_signatories(Path("requirements/signatories.yaml"))   # + revocations.yaml beside it;
                                                   # ContentError naming file:line:col on bad input
    from generator.esign.approve import verify_approval, document_approval_problems, valid_approvals
    verify_approval(approval, people)              # -> problem text | None (signer, name, meaning,
                                                   #    revocation at approval time, detached signature)
    document_approval_problems(document, people)   # [(Approval, problem)] incl. "for another version"
    valid_approvals(document, people, "approved")  # approvals of exactly this version that hold

    from generator.esign.verify import verify_binder
    report = verify_binder(Path("build/binder.pdf"), people, trust_root=None)   # offline; never raises
    report.ok, report.signatures, report.all_problems()                       # for tampering

    from generator.esign.sign import sign_binder   # rules + identity + PAdES + event beside the binder
    from generator.esign.publish import publish_binder, verify_published   # records client (issue 7.3)
    from generator.esign.keys import write_demo_keys                        # demo CA and signers

Binder conventions shared with `valgen build` are in `generator.esign.binderfile`
(fields ``sig-1-authored``, ``sig-2-reviewed``, ``sig-3-approved``; embedded
``manifest.json`` with ``release`` and ``files``; embedded ``SHA256SUMS``).
"""
