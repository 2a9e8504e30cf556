"""On-disk layouts as the data sets ship them, one module per format holding its layout (paths, raw reading), its
reader, its detection rule, its checks and its exporter: ``canonical`` (VITON-HD's layout, also the synthetic engine's),
``dresscode``, ``viton`` (PF-AFN's VITON pack), ``cpvton``, ``gpvton``. ``base`` holds what the readers share,
``export`` what the exporters share, ``pairs`` the pair lists, ``files`` the reader over named files, ``registry`` the
formats by name."""
