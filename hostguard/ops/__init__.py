"""Operations: worker processes, metrics, process roles, retention."""
