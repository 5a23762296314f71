from bmlab.plotting import METHOD_COLORS, color, use_style


def test_colors_are_stable():
    assert color("AMour") == METHOD_COLORS["AMour"]
    assert color("some new method") == color("some new method")
    assert color("some new method").startswith("#")


def test_style_applies():
    import matplotlib as mpl

    use_style()
    assert mpl.rcParams["axes.grid"] is True
