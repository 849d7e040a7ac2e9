pub fn explain(_c: crate::Code) -> Option<&'static str> { None }
