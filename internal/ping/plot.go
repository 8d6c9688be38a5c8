package ping

import (
	"fmt"
	"image/color"
	"io"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Size of WritePNG's image.
const (
	pngWidth  = 8 * vg.Inch
	pngHeight = 9 * vg.Inch
	pngDPI    = 96
)

var (
	colorGood    = color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}
	colorLost    = color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}
	colorCorrupt = color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff}
)

// WritePNG draws the result as a PNG image with two charts: above, the
// distribution of the good RTTs (a histogram); below, the RTT of every
// probe against its number, with lost probes marked as red crosses on the
// axis and corrupt ones in orange at their RTT.
func WritePNG(w io.Writer, res *Result) error {
	s := &res.Summary
	var good, corrupt, lost plotter.XYs
	var rtts plotter.Values
	for i := range res.Probes {
		p := &res.Probes[i]
		us := float64(p.RTT) / 1e3
		switch {
		case p.Lost:
			lost = append(lost, plotter.XY{X: float64(p.Seq)})
		case p.Corrupt:
			corrupt = append(corrupt, plotter.XY{X: float64(p.Seq), Y: us})
		default:
			good = append(good, plotter.XY{X: float64(p.Seq), Y: us})
			rtts = append(rtts, us)
		}
	}

	dist := plot.New()
	dist.Title.Text = fmt.Sprintf("%s to %v: %d sent, %d good, %d lost, %d corrupt; p50 %s ms, p99 %s ms",
		res.Proto, res.Target, s.Sent, s.Received, s.Lost, s.Corrupt, ms(s.P50), ms(s.P99))
	dist.X.Label.Text = "RTT (µs)"
	dist.Y.Label.Text = "replies"
	if len(rtts) > 0 {
		h, err := plotter.NewHist(rtts, histogramBins(len(rtts)))
		if err != nil {
			return fmt.Errorf("ping: plotting the RTT histogram: %w", err)
		}
		h.FillColor = colorGood
		dist.Add(h)
	} else {
		dist.Title.Text += " (no good replies)"
	}

	series := plot.New()
	series.Title.Text = "RTT by probe"
	series.X.Label.Text = "probe"
	series.Y.Label.Text = "RTT (µs)"
	series.Y.Min = 0
	series.Add(plotter.NewGrid())
	for _, set := range []struct {
		xys   plotter.XYs
		color color.Color
		shape draw.GlyphDrawer
		name  string
	}{
		{good, colorGood, draw.CircleGlyph{}, "good"},
		{corrupt, colorCorrupt, draw.TriangleGlyph{}, "corrupt"},
		{lost, colorLost, draw.CrossGlyph{}, "lost"},
	} {
		if len(set.xys) == 0 {
			continue
		}
		sc, err := plotter.NewScatter(set.xys)
		if err != nil {
			return fmt.Errorf("ping: plotting the RTT series: %w", err)
		}
		sc.GlyphStyle.Color = set.color
		sc.GlyphStyle.Shape = set.shape
		sc.GlyphStyle.Radius = vg.Points(1.5)
		if set.name == "lost" {
			sc.GlyphStyle.Radius = vg.Points(3)
		}
		series.Add(sc)
		series.Legend.Add(fmt.Sprintf("%s (%d)", set.name, len(set.xys)), sc)
	}
	series.Legend.Top, series.Legend.Left = true, true

	img := vgimg.NewWith(vgimg.UseWH(pngWidth, pngHeight), vgimg.UseDPI(pngDPI))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 2, Cols: 1, PadX: vg.Millimeter, PadY: 6 * vg.Millimeter,
		PadTop: 2 * vg.Millimeter, PadBottom: 2 * vg.Millimeter, PadLeft: 2 * vg.Millimeter, PadRight: 4 * vg.Millimeter}
	canvases := plot.Align([][]*plot.Plot{{dist}, {series}}, tiles, dc)
	dist.Draw(canvases[0][0])
	series.Draw(canvases[1][0])
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(w); err != nil {
		return fmt.Errorf("ping: writing PNG: %w", err)
	}
	return nil
}

// histogramBins chooses the number of histogram bins for n values.
func histogramBins(n int) int {
	switch {
	case n < 10:
		return max(n, 1)
	case n < 400:
		return n / 4
	}
	return 100
}
