//! The HTTP plumbing around the app's areas: the listener and its per-connection deadlines
//! (`serve`), the edge every request passes (`edge`), security headers, the site's files
//! (`assets`), the probes and metrics (`ops`), and stopping (`shutdown`).

pub mod assets;
pub mod drain;
pub mod edge;
pub mod headers;
pub mod ops;
pub mod serve;
pub mod shutdown;
