package main

import (
	"fmt"
	"image/color"
	"io"
	"slices"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

var (
	colorExo   = color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}
	colorLinux = color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff}
)

// WritePNG draws the figure: above, every trap-path row as a multiple of
// the procedure call in its boot (Exo's and Linux's points, log scale; a
// row Exo cannot run yet has Linux's point only); below, the distribution
// of each ping path's round trips over all runs (cumulative, log time).
func WritePNG(w io.Writer, rows []RowStats, runs []Run) error {
	bars := plot.New()
	bars.Title.Text = "Trap path: figure / procedure call in the same boot (median over runs)"
	bars.Y.Label.Text = "× procedure call (log scale)"
	bars.Y.Scale = plot.LogScale{}
	bars.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	// A log axis needs a positive range even with no points; Add widens it.
	bars.Y.Min, bars.Y.Max = 1, 10
	var exo, lin plotter.XYs
	var names []string
	for i, r := range rows {
		if r.Row.ExoKey == "call" || r.NoPerCall {
			continue
		}
		x := float64(len(names))
		names = append(names, fmt.Sprint(i+1))
		if r.ExoCall.N > 0 {
			exo = append(exo, plotter.XY{X: x - 0.1, Y: r.ExoCall.Median})
		}
		if r.LinuxCall.N > 0 {
			lin = append(lin, plotter.XY{X: x + 0.1, Y: r.LinuxCall.Median})
		}
	}
	bars.Add(plotter.NewGrid())
	for _, set := range []struct {
		name string
		xy   plotter.XYs
		c    color.Color
		g    draw.GlyphDrawer
	}{{"Exo", exo, colorExo, draw.CircleGlyph{}}, {"Linux", lin, colorLinux, draw.SquareGlyph{}}} {
		if len(set.xy) == 0 {
			continue
		}
		sc, err := plotter.NewScatter(set.xy)
		if err != nil {
			return fmt.Errorf("compare: plotting the trap path: %w", err)
		}
		sc.GlyphStyle.Color, sc.GlyphStyle.Shape, sc.GlyphStyle.Radius = set.c, set.g, vg.Points(4)
		bars.Add(sc)
		bars.Legend.Add(set.name, sc)
	}
	bars.Legend.Top, bars.Legend.Left = true, true
	bars.NominalX(names...)
	bars.X.Label.Text = "row # of the trap-path table (docs/COMPARE.md); Exo has no point where it cannot run the row yet"

	dist := plot.New()
	dist.Title.Text = "Ping: round-trip distribution over all runs"
	dist.X.Label.Text = "round trip (µs, log scale)"
	dist.Y.Label.Text = "fraction of replies ≤ x"
	dist.X.Scale = plot.LogScale{}
	dist.X.Tick.Marker = plot.LogTicks{Prec: -1}
	dist.X.Min, dist.X.Max = 100, 1000
	dist.Y.Min, dist.Y.Max = 0, 1
	dist.Add(plotter.NewGrid())
	var lines []any
	for _, p := range Paths {
		var rtts []time.Duration
		for _, run := range runs {
			if res := run.Ping[p.Key]; res != nil {
				for i := range res.Probes {
					if res.Probes[i].Good() {
						rtts = append(rtts, res.Probes[i].RTT)
					}
				}
			}
		}
		if len(rtts) == 0 {
			continue
		}
		lines = append(lines, p.System+": "+p.Name, cdf(rtts))
	}
	if len(lines) > 0 {
		if err := plotutil.AddLines(dist, lines...); err != nil {
			return fmt.Errorf("compare: plotting the RTTs: %w", err)
		}
	}
	dist.Legend.Top, dist.Legend.Left = false, false

	img := vgimg.NewWith(vgimg.UseWH(9*vg.Inch, 10*vg.Inch), vgimg.UseDPI(96))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 2, Cols: 1, PadY: 8 * vg.Millimeter, PadTop: 2 * vg.Millimeter,
		PadBottom: 2 * vg.Millimeter, PadLeft: 2 * vg.Millimeter, PadRight: 4 * vg.Millimeter}
	c := plot.Align([][]*plot.Plot{{bars}, {dist}}, tiles, dc)
	bars.Draw(c[0][0])
	dist.Draw(c[1][0])
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(w); err != nil {
		return fmt.Errorf("compare: writing the PNG: %w", err)
	}
	return nil
}

// cdf is the empirical distribution of d: (µs, fraction ≤), at most about
// 500 points.
func cdf(d []time.Duration) plotter.XYs {
	s := slices.Clone(d)
	slices.Sort(s)
	step := max(len(s)/500, 1)
	var xy plotter.XYs
	for i := 0; i < len(s); i += step {
		xy = append(xy, plotter.XY{X: max(float64(s[i])/1e3, 1), Y: float64(i+1) / float64(len(s))})
	}
	xy = append(xy, plotter.XY{X: max(float64(s[len(s)-1])/1e3, 1), Y: 1})
	return xy
}
