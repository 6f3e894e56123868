package dev.llmproxy.bench;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;

/**
 * Latency versus load as a PNG, drawn with Java2D (headless): one colour per target, p50 as a solid
 * line and p99 dashed, latency on a logarithmic axis so that a knee is visible next to the floor.
 */
final class LatencyChart {
  private static final Color[] COLORS = {new Color(0x1f77b4), new Color(0xd62728), new Color(0x2ca02c),
      new Color(0xff7f0e), new Color(0x9467bd), new Color(0x8c564b)};
  private static final int W = 960;
  private static final int H = 600;
  private static final int LEFT = 90;
  private static final int RIGHT = 30;
  private static final int TOP = 60;
  private static final int BOTTOM = 70;
  private static final double FLOOR_MS = 0.001;

  /** A point: load on x, p50 and p99 latency in milliseconds. */
  record Point(double x, double p50, double p99) {}

  private final String title;
  private final String xLabel;
  private final String yLabel;
  private final Map<String, List<Point>> series = new LinkedHashMap<>();

  LatencyChart(String title, String xLabel, String yLabel) {
    this.title = title;
    this.xLabel = xLabel;
    this.yLabel = yLabel;
  }

  /** Adds a point; latencies below 1 microsecond (back-to-back tokens) are drawn at 1 microsecond. */
  void add(String target, double x, double p50, double p99) {
    if (Double.isFinite(x) && Double.isFinite(p50) && Double.isFinite(p99)) {
      series.computeIfAbsent(target, k -> new ArrayList<>())
          .add(new Point(x, Math.max(p50, FLOOR_MS), Math.max(p99, FLOOR_MS)));
    }
  }

  void write(Path file) throws IOException {
    System.setProperty("java.awt.headless", "true");
    BufferedImage image = new BufferedImage(W, H, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = image.createGraphics();
    g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
    g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
    g.setColor(Color.WHITE);
    g.fillRect(0, 0, W, H);

    double xMax = 0;
    double yMin = Double.MAX_VALUE;
    double yMax = 0;
    for (List<Point> points : series.values()) {
      for (Point p : points) {
        xMax = Math.max(xMax, p.x());
        yMin = Math.min(yMin, p.p50());
        yMax = Math.max(yMax, p.p99());
      }
    }
    if (series.isEmpty()) {
      xMax = 1;
      yMin = 1;
      yMax = 10;
    }
    xMax = niceCeiling(xMax * 1.05);
    double logMin = Math.floor(Math.log10(yMin));
    double logMax = Math.ceil(Math.log10(yMax));
    if (logMax <= logMin) {
      logMax = logMin + 1;
    }
    int plotW = W - LEFT - RIGHT;
    int plotH = H - TOP - BOTTOM;

    g.setColor(Color.BLACK);
    g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 18));
    g.drawString(title, LEFT, 32);
    g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 13));
    // Grid and ticks.
    for (int i = 0; i <= 5; i++) {
      double x = xMax * i / 5;
      int px = LEFT + (int) Math.round(plotW * i / 5.0);
      g.setColor(new Color(0xe0e0e0));
      g.drawLine(px, TOP, px, TOP + plotH);
      g.setColor(Color.DARK_GRAY);
      String label = xMax >= 10 ? String.format("%,.0f", x) : String.format("%.2f", x);
      g.drawString(label, px - g.getFontMetrics().stringWidth(label) / 2, TOP + plotH + 20);
    }
    for (double e = logMin; e <= logMax; e++) {
      for (int m = 1; m < 10; m++) {
        double v = m * Math.pow(10, e);
        if (Math.log10(v) > logMax) {
          break;
        }
        int py = y(Math.log10(v), logMin, logMax, plotH);
        g.setColor(m == 1 ? new Color(0xc8c8c8) : new Color(0xf0f0f0));
        g.drawLine(LEFT, py, LEFT + plotW, py);
        if (m == 1) {
          g.setColor(Color.DARK_GRAY);
          String label = v >= 1 ? String.format("%.0f", v) : String.format("%s", v);
          g.drawString(label, LEFT - 8 - g.getFontMetrics().stringWidth(label), py + 5);
        }
      }
    }
    g.setColor(Color.BLACK);
    g.drawRect(LEFT, TOP, plotW, plotH);
    g.drawString(xLabel, LEFT + plotW / 2 - g.getFontMetrics().stringWidth(xLabel) / 2, H - 25);
    Graphics2D rotated = (Graphics2D) g.create();
    rotated.rotate(-Math.PI / 2);
    rotated.drawString(yLabel, -(TOP + plotH / 2) - g.getFontMetrics().stringWidth(yLabel) / 2, 25);
    rotated.dispose();

    int legendY = TOP + 20;
    int c = 0;
    for (Map.Entry<String, List<Point>> e : series.entrySet()) {
      Color color = COLORS[c++ % COLORS.length];
      List<Point> points = e.getValue().stream().sorted((a, b) -> Double.compare(a.x(), b.x())).toList();
      for (int pct = 0; pct < 2; pct++) {
        g.setColor(color);
        g.setStroke(pct == 0 ? new BasicStroke(2.2f)
            : new BasicStroke(2.2f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_ROUND, 1f, new float[] {8f, 6f}, 0f));
        int prevX = -1;
        int prevY = -1;
        for (Point p : points) {
          int px = LEFT + (int) Math.round(plotW * p.x() / xMax);
          int py = y(Math.log10(pct == 0 ? p.p50() : p.p99()), logMin, logMax, plotH);
          g.fillOval(px - 4, py - 4, 8, 8);
          if (prevX >= 0) {
            g.drawLine(prevX, prevY, px, py);
          }
          prevX = px;
          prevY = py;
        }
      }
      g.setStroke(new BasicStroke(2.2f));
      g.drawLine(LEFT + 15, legendY - 5, LEFT + 45, legendY - 5);
      g.setColor(Color.BLACK);
      g.drawString(e.getKey() + " (p50 solid, p99 dashed)", LEFT + 52, legendY);
      legendY += 20;
    }
    g.dispose();
    ImageIO.write(image, "png", file.toFile());
  }

  private static int y(double logValue, double logMin, double logMax, int plotH) {
    return TOP + plotH - (int) Math.round(plotH * (logValue - logMin) / (logMax - logMin));
  }

  private static double niceCeiling(double v) {
    if (v <= 0) {
      return 1;
    }
    double magnitude = Math.pow(10, Math.floor(Math.log10(v)));
    for (double step : new double[] {1, 2, 2.5, 5, 10}) {
      if (step * magnitude >= v) {
        return step * magnitude;
      }
    }
    return 10 * magnitude;
  }
}
