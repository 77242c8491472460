
mod secrets;
