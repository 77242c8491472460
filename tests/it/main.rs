
mod policy;
