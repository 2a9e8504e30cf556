"""Lightning callbacks: the phase schedule of distillation runs and image logging."""
