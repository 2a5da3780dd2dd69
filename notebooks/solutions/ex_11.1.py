from kit.checks import check_sampler

exercise_provider = TracerProvider(sampler=ParentBased(TraceIdRatioBased(0.1)))

check_sampler(exercise_provider, ratio=0.1, exercise="11.1")
