//! The runtime config, `writ.yaml`: the state location, people and their roles, and how to
//! reach each system. (Being built: see issue 4.)
