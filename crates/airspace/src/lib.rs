//! Sans-IO strategic deconfliction: 4D notification volumes, their index, dividing lines, zones, conformance.
