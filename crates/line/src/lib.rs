//! Sans-IO deconfliction line: message catalogue, templates per language, acknowledgement and escalation.
