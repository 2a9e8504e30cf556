"""Plain ``nn.Module`` networks (no Lightning): a student can build its teacher's net without its stage."""
