"""MySQL's bulk writes: values rendered as text by whole columns, one LOAD DATA fed through a pipe."""
