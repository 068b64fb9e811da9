"""Evaluation, outside the runtime package: question sets (`questions`), scoring next to the
stock LangChain recipe (`scoring`), text tables (`report`), blind grading pairs (`pairs`) and
the evidence checker (`check_evidence`). Driven by `lbw eval`; needs the `eval` extra."""
