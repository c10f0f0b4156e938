//! Standard tokens: `otpauth://` URIs (Google's Key Uri Format) and Google
//! Authenticator's `otpauth-migration://` export.
