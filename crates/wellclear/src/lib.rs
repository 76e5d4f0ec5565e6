//! Sans-IO DO-365 well-clear detection and alerting, compatible with NASA DAIDALUS v2.0.4, and its file formats.
