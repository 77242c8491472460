
mod fake_provider;
mod runtime;
