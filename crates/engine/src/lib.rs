//! Sans-IO conflict engine: units, geodesy, kinematics, the all-pairs picture.
